"""gateway-clickshop: ClickShop catalogs through the product feed the shop publishes."""
