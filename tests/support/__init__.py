"""Real test doubles: a pseudo-terminal serial device, subprocess helpers."""
