"""Safety alerts raised by forms (suicidality screens): stored, shown, and active until acknowledged."""
