"""The console: the web page the desk staff work in, reading and acting through the other services' HTTP APIs."""
