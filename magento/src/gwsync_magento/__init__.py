"""gateway-sync connector for Magento 2 / Adobe Commerce (REST API, bulk reads)."""

from .connector import MagentoConnector

__all__ = ["MagentoConnector"]
