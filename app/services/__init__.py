"""Services: plain functions over a unit of work. Every write in the app goes through here."""
