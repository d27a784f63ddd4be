"""monitor: a disaster-recovery and heating-season risk monitor for a district emergency office."""

__version__ = "0.1.0"
