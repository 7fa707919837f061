"""Roster: invite learners to a learning program in bulk, from the terminal."""
