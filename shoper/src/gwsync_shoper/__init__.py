"""gateway-sync connector for Shoper (shoper.pl): reads the catalog through the REST WebAPI."""

__version__ = "0.1.0"
