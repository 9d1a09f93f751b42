"""gateway-sync connector for PrestaShop (webservice API, JSON output, bulk reads)."""

from .connector import PrestaShopConnector

__all__ = ["PrestaShopConnector"]
