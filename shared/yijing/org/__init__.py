"""Organisation: police stations (派出所) and their sites (重点部位/网格)."""
