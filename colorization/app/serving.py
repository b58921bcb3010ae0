"""What the web app runs on: its listening socket, uvicorn with the guards' timeouts
and limits, and the model loaded (its graph traced) behind its queue.

    sock = serving.listen("127.0.0.1", 8000)
    service = serving.load_service(None, colorize.Limits())   # the shipped model
    app = server.create_app(service, None)
    serving.serve(app, sock, serving.server_config(app), service)

`colorization-app` (`colorization.cli.app`) puts these together from its flags.
"""

import socket


def listen(host, port):
    """A listening socket; OSError (address in use, unknown host) as it is."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=256)


def server_config(app, log_level="info", read_timeout=20.0, max_connections=256):
    """The uvicorn configuration of `app`.

    Args:
        app: The ASGI app (`server.create_app`).
        log_level: uvicorn's log level ("info": one line per request).
        read_timeout: Seconds a request's head, or the next piece of its body, may
            take to come.
        max_connections: Open connections; requests beyond are answered 503.
    """
    import uvicorn

    from colorization.app import guards

    return uvicorn.Config(
        app,
        log_level=log_level,
        timeout_graceful_shutdown=5,
        # uvicorn's h11, closing connections whose request head does not come
        http=guards.timed_h11(read_timeout),
        limit_concurrency=max_connections,
        timeout_keep_alive=5,
    )


def load_service(model, limits, size=None, temperature=None, blend=None):
    """The model at `model` (None: the shipped one), loaded and traced, behind its
    queue.

    Raises:
        FileNotFoundError, ValueError: as `Colorizer.load` does.
    """
    import numpy as np

    from colorization.app import colorize
    from colorization.inference.colorizer import Colorizer

    colorizer = Colorizer.load(model, size=size, temperature=temperature, blend=blend)
    runner = colorize.ModelRunner(colorizer)
    grey = np.zeros((32, 32, 3), np.uint8)
    runner.colorize(grey, colorize.Options())  # trace it now
    if colorizer.hinted:  # and the path with colour hints
        runner.colorize(grey, colorize.Options(hints=[(0, 0, "#808080")]))
    return colorize.ColorizeService(runner, limits)


def serve(app, sock, config, service=None):
    """Serves `app` on the listening `sock` until interrupted, then closes `service`."""
    import uvicorn

    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        if service is not None:
            service.close()
