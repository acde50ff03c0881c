"""Weak supervision: image labels for localization (cam, mil) and boxes for masks (box2mask)."""
