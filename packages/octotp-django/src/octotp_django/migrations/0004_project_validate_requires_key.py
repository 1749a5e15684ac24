from django.db import migrations, models


class Migration(migrations.Migration):
    """``Project.validate_requires_key``: existing projects get False (they validate without a key, as
    the Octotp API allowed); projects created from now on get True (the model's default)."""

    dependencies = [
        ('octotp', '0003_dashboard_sessions'),
    ]

    operations = [
        # Adding the column with default False fills every existing row with False; the AlterField
        # then makes True the default for new rows (a Python-side default: no database change).
        migrations.AddField(
            model_name='project',
            name='validate_requires_key',
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name='project',
            name='validate_requires_key',
            field=models.BooleanField(
                default=True,
                help_text='Refuse validates without an X-Api-Key. Projects from before this setting have it off.',
            ),
        ),
    ]
