"""gateway-sync connector for product feed files: Google Merchant XML and CSV."""

__version__ = "0.1.0"
