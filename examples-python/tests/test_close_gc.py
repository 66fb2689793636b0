"""close() while views and other threads still use the array, written so
that it runs on PyPy too (no reference counts there: close() leaves the
handle to the garbage collector, and a thread spinning before
Thread.start() returns starves the starter): the memory stays mapped while
anything shows it, and is released once nothing does."""


def test_views_outlive_close_until_collected(shm_name, py):
    py("""
        import gc, sys, mba
        name = sys.argv[1]
        def maps():
            return sum(1 for l in open('/proc/self/maps') if name in l)
        def collect():
            for _ in range(3):
                gc.collect()
        a = mba.create(name, 4, 'i')
        a[1] = 7
        v = a.view()
        part = v[1:3]
        a.close()
        collect()
        assert maps() >= 1 and v[1] == 7 and part[0] == 7  # still mapped
        v[2] = 8                                            # still shared
        b = mba.attach(name, 'i')
        assert b[2] == 8
        b.close()
        del v
        collect()
        assert maps() >= 1 and part[1] == 8   # a derived view keeps it too
        del part
        collect()
        assert maps() == 0, maps()            # nothing shows it: unmapped
        h = mba.attach(name, 'i')
        hh = h._h
        h.close()
        collect()
        from mba import _lib
        import ctypes
        n = ctypes.c_uint64()
        assert _lib.len_(hh, ctypes.byref(n)) == _lib.E_HANDLE  # closed
        print("ok")
    """, shm_name)


def test_threads_racing_close_behind_a_barrier(py):
    py("""
        import threading, time, mba
        from mba import mmaparray
        for rep in range(20):
            a = mmaparray('d', [1.0] * 1000)
            stop = []
            ready = threading.Barrier(3)
            def reader(a=a):
                ready.wait()
                while not stop:
                    try:
                        a[5]; len(a); a.tolist(); a.view(); a.append(2.0)
                        a.seq; a.capacity; a.pop()
                    except (ValueError, IndexError):
                        break
            ts = [threading.Thread(target=reader) for _ in range(2)]
            for t in ts:
                t.start()
            ready.wait()
            time.sleep(0.001 * (rep % 3))
            a.close()
            stop.append(1)
            for t in ts:
                t.join()
        print("ok")
    """)
