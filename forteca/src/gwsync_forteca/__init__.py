"""gateway-forteca: Forteca catalogs through the product feed the shop publishes."""
