"""The dosing session: doses given, vital signs through the session, and the alerts and decisions they drive."""
