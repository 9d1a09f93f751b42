"""gateway-sync connector for Sellingo shops through Sellasist (sellasist.pl): REST API v1."""

__version__ = "0.1.0"
