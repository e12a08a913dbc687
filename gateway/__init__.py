"""The API gateway: `gateway.nginx` renders its one nginx config for every target."""
