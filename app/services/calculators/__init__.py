"""Pure calculators: Decimal/date in, Decimal/date out. No I/O, no session, no app imports."""
