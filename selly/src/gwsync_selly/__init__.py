"""gateway-sync connector for Selly (selly.pl): reads the shop's tables through the generation-1 table API."""

__version__ = "0.1.0"
