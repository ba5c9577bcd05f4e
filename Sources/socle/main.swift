print("socle")
