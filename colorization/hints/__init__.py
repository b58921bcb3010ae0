"""User colour hints: reading and checking them (`user_hints`), turning them into
the network's hint channels (`hint_graph`), and measuring what they buy
(`hint_eval`). The layers that take hints live in `colorization.models`."""
