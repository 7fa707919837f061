"""What the app's client and the service say to each other: the wire models both import."""
