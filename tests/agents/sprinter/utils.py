"""Helper module of the 'sprinter' test agent; the 'idler' agent ships a different utils.py."""

OWNER = "sprinter"
ACTION = 5  # right
