# One image for every role: `python app.py` or gunicorn (API), `flask --app app background`,
# `celery -A make_celery worker` (worker).
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV HOST=0.0.0.0 PORT=5000
CMD ["python", "app.py"]
