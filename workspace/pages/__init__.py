"""The workspace's pages, one module per area (sign-in, cases, admin); part 2 adds audit and finance."""
