"""Helper module of the 'idler' test agent; the 'sprinter' agent ships a different utils.py."""

OWNER = "idler"
ACTION = 0  # idle
