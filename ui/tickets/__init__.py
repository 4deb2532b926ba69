"""Tickets (工单): the list with live countdowns, the "due soon" panel, the ticket dialog."""
