"""gateway-retalia: Retalia catalogs through the product feed the shop publishes."""
