"""Reusable widgets: the searchable list, the line tables (preview, invitations) and the parts
of the preview (its summary, its rows, its commit bar)."""
