"""`make bench`: each module measures one area against peers in the same process."""
