"""Cluster providers behind one interface: kind, local, existing."""
