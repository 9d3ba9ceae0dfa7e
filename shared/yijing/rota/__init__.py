"""The weekly rotating captain (一人一周): stored weeks, planning, unavailability, overrides, swaps, feeds."""
