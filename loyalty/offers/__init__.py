"""Offers: issuing them from active rules, their life cycle, points, and uplift."""
