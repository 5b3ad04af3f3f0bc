"""Print the current weather for a city (example skill; the API host does not exist)."""

import json
import os
import sys
import urllib.parse
import urllib.request

API = "https://api.weather.invalid/v1/forecast"


def main() -> None:
    city = sys.argv[1]
    query = urllib.parse.urlencode({"q": city, "days": 3})
    request = urllib.request.Request(
        f"{API}?{query}", headers={"Authorization": f"Bearer {os.environ['WEATHER_API_KEY']}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        forecast = json.load(response)
    print(f"{city}: {forecast['current']['temp_c']} °C, {forecast['current']['condition']}")


if __name__ == "__main__":
    main()
