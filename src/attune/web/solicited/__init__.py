"""The solicited adverse-event checklist at the visits the protocol names, and closing a dosing
session (which needs the checklist answered)."""
