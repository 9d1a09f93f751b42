"""gateway-sync connector for InsERT Subiekt GT: reads the company's SQL Server database (read-only)."""

from .connector import SubiektGTConnector

__all__ = ["SubiektGTConnector"]
