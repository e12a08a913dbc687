"""nginx.conf.j2 and its renderer (`python -m gateway.nginx.render`)."""
