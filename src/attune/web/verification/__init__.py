"""Source data verification: a monitor's marks that fields or whole forms match the source."""
