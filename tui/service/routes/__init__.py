"""The /api/v1 routers, one module per resource, and the learner's pages."""
