"""The client side of the API: wire models and the httpx client."""
