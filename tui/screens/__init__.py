"""The screens of the flow, one module per page of the help article."""
