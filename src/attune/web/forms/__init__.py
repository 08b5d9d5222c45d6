"""Forms: instrument answers and therapy notes; drafts, signatures, corrections with reasons."""
