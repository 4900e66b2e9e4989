"""Sessions: what the window drives. A session owns acquisition, inference, recording and
the label time anchor, and announces changes with signals; the window only draws."""
