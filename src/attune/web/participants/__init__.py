"""Participants: screening, enrolment, randomisation, visits and discontinuation."""
