"""Reports for the head: the daily digest, ratings, the analytical note, the XLSX export."""
