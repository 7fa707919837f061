"""Reusable widgets: the searchable list, the preview table, usage bars."""
