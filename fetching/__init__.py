"""The project's only HTTP client (httpx lives here and nowhere else): `fetching.client.Fetcher`."""
