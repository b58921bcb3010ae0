"""Training: the custom loop for every tf.distribute strategy (`loop`), its steps
(`train_steps`), losses, the strategy and precision (`distribute`), warm starts
(`warm_start`), the run's files (`train_io`) and checkpoints turned into models
(`checkpoints`)."""
