"""gateway-sync connector for IAI / IdoSell Shop (Admin API, `products/products/search`)."""

from .connector import IaiConnector

__all__ = ["IaiConnector"]
