"""Studies, sites and who may do what in them."""
