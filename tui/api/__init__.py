"""The client side of the API: the httpx client and what the app and CLI build on it."""
