import socket

import numpy as np
import pytest

from helpers import start


def test_check_packages_reports_missing():
    status = start.check_packages({"numpy": "", "surely_not_a_package_xyz": ""})
    assert status == {"numpy": True, "surely_not_a_package_xyz": False}


def test_required_packages_are_installed():
    assert all(start.check_packages().values())


def test_no_network_blocks_and_restores():
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo
    with start.no_network():
        assert socket.socket.connect is not connect and socket.getaddrinfo is not getaddrinfo
        with pytest.raises(start.NetworkAccessError):
            socket.create_connection(("192.0.2.1", 80), timeout=0.1)
        with pytest.raises(start.NetworkAccessError):
            socket.getaddrinfo("example.org", 80)
        assert socket.getaddrinfo("localhost", 80)  # local names still resolve
    assert socket.socket.connect is connect and socket.getaddrinfo is getaddrinfo


def test_no_network_restores_after_an_exception():
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo
    with pytest.raises(KeyError), start.no_network():
        raise KeyError("inside the block")
    assert socket.socket.connect is connect and socket.getaddrinfo is getaddrinfo


def test_course_modules_import_offline():
    results = start.check_offline()
    assert results and all(v == "OK" for v in results.values()), results


def test_sample_means_law_of_large_numbers():
    small, large = start.sample_means(2, seed=1), start.sample_means(200, seed=1)
    assert large.std() < small.std() / 5
    assert abs(large.mean() - 3.5) < 0.05
    with pytest.raises(ValueError):
        start.sample_means(0)
    assert np.array_equal(start.sample_means(3, seed=4), start.sample_means(3, seed=4))
